# Moderator: the API and dashboard under gunicorn, as a non-root user.
#   docker build -t moderator .
#   docker run -p 8000:8000 -v moderator-data:/data moderator
#   docker run --rm -v moderator-data:/data moderator moderator sites create my-site
# The SQLite database and the generated secret key live in the /data volume; set DATABASE_URL
# for PostgreSQL and MODERATOR_SECRET_KEY to share one key across containers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Code first and the model last, so retraining rebuilds only the final layers.
COPY pyproject.toml README.md ./
COPY moderator ./moderator
COPY training ./training
RUN pip install '.[postgres]' && rm -rf moderator training build *.egg-info

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

# `serve` migrates the database first, then starts gunicorn (2 workers; add --workers N).
CMD ["moderator", "serve", "--host", "0.0.0.0", "--port", "8000"]
