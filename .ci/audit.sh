#!/usr/bin/env bash
# Known vulnerabilities in the installed dependencies: pip-audit over the project's .venv.
#
#   exit 0  audited, nothing known; or no vulnerability service was reachable (said loudly: a network
#           problem must not fail CI, but it must not pass for a clean audit either)
#   exit 1  a known vulnerability in an installed dependency (not listed in .ci/audit-ignore.txt)
#   exit 2  the audit could not run at all (no .venv)
#
# pip-audit lives in its own environment (.venv/.audit, ignored by git), so its dependencies are not audited
# as if they were the product's. Services: PyPI's vulnerability data first, then OSV. A service that answers
# "not found" for every package (a mirror without PyPI's JSON API) audited nothing and counts as unreachable.
# To accept a finding (no fix yet, not reachable from the product): add its id and why to
# .ci/audit-ignore.txt, one per line: `GHSA-xxxx-xxxx-xxxx  reason`.
# AUDIT_SERVICES="osv" picks the services; AUDIT_OSV_URL points the OSV one at a mirror.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
AUDIT_VENV=${AUDIT_VENV:-$VENV/.audit}
IGNORE_FILE=.ci/audit-ignore.txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$VENV/bin/python" ]; then
    echo "audit: no $VENV/bin/python (run make venv first)" >&2
    exit 2
fi
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
project=$("$VENV/bin/python" - <<'EOF'
import tomllib
print(tomllib.load(open("pyproject.toml", "rb"))["project"]["name"])
EOF
)

if [ ! -x "$AUDIT_VENV/bin/pip-audit" ]; then
    if ! { python3 -m venv "$AUDIT_VENV" && "$AUDIT_VENV/bin/pip" install --quiet pip-audit; } >"$WORK/install.log" 2>&1; then
        echo "audit: SKIPPED - pip-audit could not be installed (no access to PyPI?):"
        tail -n 3 "$WORK/install.log" | sed 's/^/    /'
        exit 0
    fi
fi

ignored=()
if [ -f "$IGNORE_FILE" ]; then
    while read -r id _; do
        case "$id" in ""|\#*) ;; *) ignored+=(--ignore-vuln "$id") ;; esac
    done <"$IGNORE_FILE"
fi

unreachable=()
for service in ${AUDIT_SERVICES:-pypi osv}; do
    report="$WORK/$service.json"
    extra=()
    if [ "$service" = osv ] && [ -n "${AUDIT_OSV_URL:-}" ]; then
        extra=(--osv-url "$AUDIT_OSV_URL")  # a mirror of OSV (and how the failing path is tested)
    fi
    "$AUDIT_VENV/bin/pip-audit" --path "$site" --vulnerability-service "$service" --progress-spinner off \
        --timeout 30 --format json --output "$report" "${extra[@]}" "${ignored[@]}" >"$WORK/$service.log" 2>&1
    "$AUDIT_VENV/bin/python" - "$report" "$service" "$project" <<'EOF'
import json
import sys

path, service, project = sys.argv[1:4]
try:
    with open(path) as file:
        dependencies = json.load(file)["dependencies"]
except (OSError, ValueError, KeyError):
    sys.exit(3)  # no report: the service could not be used
ours = project.lower().replace("_", "-")
packages = [d for d in dependencies if d["name"].lower().replace("_", "-") != ours]
audited = [d for d in packages if "skip_reason" not in d]
if not audited:
    sys.exit(3)  # every package "not found": a mirror without vulnerability data, nothing was audited
findings = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
skipped = len(packages) - len(audited)
print(f"audit ({service}): {len(audited)} installed packages audited, {skipped} not found on the service")
for name, version, vuln in findings:
    fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
    aliases = ", ".join(vuln.get("aliases", []))
    print(f"  VULNERABLE {name} {version}: {vuln['id']} ({aliases}) fixed in: {fixed}")
sys.exit(1 if findings else 0)
EOF
    case $? in
        0) echo "audit: no known vulnerability"; exit 0 ;;
        1) echo "audit: FAILED - known vulnerabilities above (accept one only in $IGNORE_FILE, with a reason)"
           exit 1 ;;
        *) reason=$(grep -v '^ ' "$WORK/$service.log" | tail -n 1 | cut -c1-220)
           unreachable+=("$service: ${reason:-answered, but knows none of the installed packages}") ;;
    esac
done

echo "audit: SKIPPED - no vulnerability service was usable from here; nothing was audited:"
for reason in "${unreachable[@]}"; do
    echo "    $reason"
done
exit 0
