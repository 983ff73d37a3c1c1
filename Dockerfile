# Moderator: the API and dashboard under gunicorn, as a non-root user.
#
# Run it behind the shipped proxy, never with gunicorn's port published: slow clients could
# hold its threads (nginx reads whole requests first). deploy/docker-compose.yml runs this
# image as two instances behind nginx, with PostgreSQL and Redis:
#   cd deploy && docker compose up -d --build       (see the README, "Deployment")
# The image alone (docker build -t moderator .) keeps SQLite and the generated secret key in
# the /data volume; set DATABASE_URL for PostgreSQL and MODERATOR_SECRET_KEY to share one
# key across containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Code first and the model last, so retraining rebuilds only the final layers.
COPY pyproject.toml setup.py README.md ./
COPY moderator ./moderator
COPY training ./training
# gcc only for the install: it compiles moderator/classifier/_blocks.c (setup.py), the
# scoring arithmetic that makes one decision about twice as fast, and then leaves the image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install '.[postgres,redis]' \
    && (cd / && python -c "import moderator.classifier._blocks") \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/* moderator training build *.egg-info

COPY models ./models

RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin moderator \
    && mkdir /data \
    && chown moderator:moderator /data

ENV MODERATOR_INSTANCE_PATH=/data \
    MODERATOR_MODEL_PATH=/app/models/default

VOLUME ["/data"]
USER moderator
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# `serve` migrates the database first, then starts gunicorn (2 workers x 4 threads), for
# the proxy in front of it (deploy/nginx/moderator.conf) to reach on port 8000.
CMD ["moderator", "serve", "--host", "0.0.0.0", "--port", "8000"]
