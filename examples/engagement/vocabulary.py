"""Word lists and places the dataset generator draws from (French, with the accents real data has)."""

from __future__ import annotations

from dataclasses import dataclass

from examples.engagement.geo import Point


@dataclass(frozen=True, slots=True)
class City:
    """A city addresses are scattered around, with its department and region."""

    name: str
    postal_code: str
    department_code: str
    department_name: str
    region: str
    center: Point
    weight: int


CITIES: tuple[City, ...] = (
    City("Paris", "75011", "75", "Paris", "Île-de-France", Point(48.8566, 2.3522), 30),
    City("Saint-Denis", "93200", "93", "Seine-Saint-Denis", "Île-de-France", Point(48.9362, 2.3574), 5),
    City("Créteil", "94000", "94", "Val-de-Marne", "Île-de-France", Point(48.7904, 2.4556), 4),
    City("Nanterre", "92000", "92", "Hauts-de-Seine", "Île-de-France", Point(48.8924, 2.2069), 4),
    City("Versailles", "78000", "78", "Yvelines", "Île-de-France", Point(48.8049, 2.1204), 3),
    City("Lyon", "69003", "69", "Rhône", "Auvergne-Rhône-Alpes", Point(45.7640, 4.8357), 10),
    City(
        "Marseille",
        "13001",
        "13",
        "Bouches-du-Rhône",
        "Provence-Alpes-Côte d'Azur",
        Point(43.2965, 5.3698),
        9,
    ),
    City("Lille", "59000", "59", "Nord", "Hauts-de-France", Point(50.6292, 3.0573), 7),
    City("Bordeaux", "33000", "33", "Gironde", "Nouvelle-Aquitaine", Point(44.8378, -0.5792), 6),
    City("Toulouse", "31000", "31", "Haute-Garonne", "Occitanie", Point(43.6047, 1.4442), 6),
    City("Nantes", "44000", "44", "Loire-Atlantique", "Pays de la Loire", Point(47.2184, -1.5536), 5),
    City("Strasbourg", "67000", "67", "Bas-Rhin", "Grand Est", Point(48.5734, 7.7521), 4),
    City("Rennes", "35000", "35", "Ille-et-Vilaine", "Bretagne", Point(48.1173, -1.6778), 4),
    City("Évry-Courcouronnes", "91000", "91", "Essonne", "Île-de-France", Point(48.6290, 2.4410), 3),
)

DOMAINS = (
    "solidarite-insertion",
    "education",
    "environnement",
    "sante",
    "culture-loisirs",
    "sport",
    "benevolat-competences",
    "vivre-ensemble",
    "prevention-protection",
    "memoire-et-citoyennete",
)

ACTIVITIES = (
    "Accompagnement",
    "Animation",
    "Aide alimentaire",
    "Soutien scolaire",
    "Sensibilisation",
    "Collecte",
    "Bricolage",
    "Communication",
    "Écoute",
    "Logistique",
)

TITLE_STEMS = (
    "Bénévolat auprès des personnes âgées",
    "Accompagner des élèves en difficulté",
    "Participer à la distribution alimentaire",
    "Animer des ateliers numériques",
    "Sensibiliser au tri des déchets",
    "Éducateur sportif bénévole",
    "Soutien aux réfugiés",
    "Préparer les repas solidaires",
    "Aider à l'entretien d'un jardin partagé",
    "Écoute et accueil des familles",
    "Collecte de vêtements",
    "Médiation culturelle au musée",
)

TITLE_SUFFIX_HF = "(H/F)"
TITLES_PERCENT = (
    "100% solidaire : maraude de nuit",
    "Collecte 1000 repas pour l'hiver",
    "Défi 100% inclusion",
)
TITLES_AIDE_AUX = ("Référent aide_aux devoirs", "Bénévole aide aux devoirs", "Coordination aide aux aidants")

TAGS = ("seniors", "jeunesse", "numérique", "urgence", "week-end", "soirée", "handicap", "quartier", "nature")
TASKS = ("Accueillir le public", "Préparer le matériel", "Tenir un stand", "Rédiger un compte rendu", "Trier")
AUDIENCES = ("Personnes âgées", "Jeunes", "Familles", "Personnes en situation de handicap", "Tous publics")
SOFT_SKILLS = ("Écoute", "Patience", "Travail en équipe", "Autonomie", "Ponctualité")
REQUIREMENTS = ("Aucune compétence requise", "Permis B", "Casier judiciaire vierge", "Majeur")

STATUS_JURIDIQUE = ("Association", "Collectivité territoriale", "Fondation", "Établissement public")
ORG_KINDS = ("Association", "Amicale", "Club", "Comité", "Fédération", "Collectif", "Les Amis")
ORG_TOPICS = (
    "sportive",
    "des parents d'élèves",
    "du patrimoine",
    "de la forêt",
    "culturelle",
    "solidaire",
    "des aînés",
    "pour l'éducation populaire",
    "des jardins familiaux",
    "de sauvegarde des animaux",
)

ANNONCEUR_NAMES = (
    "JeVeuxAider.gouv.fr",
    "Service Civique",
    "Réserve Civique",
    "Benevolt",
    "Les Restos du Cœur",
    "Croix-Rouge française",
    "Secours populaire",
    "Unis-Cité",
    "France Bénévolat",
    "Emmaüs Connect",
)

DIFFUSEUR_NAMES = (
    "Leboncoin",
    "Welcome to the Jungle",
    "HelloAsso",
    "Ma Boussole Aidants",
    "Mairie de Paris",
    "Partenaire sans accès",
)
