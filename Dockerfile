# shadow-proxy container image.
#   docker build -t shadow-proxy .
#   docker run -p 8080:8080 -v "$PWD/shadow.toml:/etc/shadow-proxy/config.toml:ro" shadow-proxy
# The config must keep the admin server on port 9901 (the default 127.0.0.1:9901 is what HEALTHCHECK reaches;
# set admin_listen = "0.0.0.0:9901" to scrape /stats from outside the container). The SQLite store defaults to
# /var/lib/shadow-proxy/shadow.db, the working directory: mount a volume there to keep it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/shadow-proxy shadow

WORKDIR /src
COPY pyproject.toml README.md ./
COPY comparators ./comparators
COPY config ./config
COPY proxy ./proxy
RUN pip install . && rm -rf /src

WORKDIR /var/lib/shadow-proxy
USER shadow
EXPOSE 8080 9901

HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9901/healthz', timeout=2)"]

ENTRYPOINT ["shadow-proxy"]
CMD ["serve", "--config", "/etc/shadow-proxy/config.toml"]
