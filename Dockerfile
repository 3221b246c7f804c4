# syntax=docker/dockerfile:1
# aws-access-bot: build a virtualenv from requirements.lock + pyproject.toml, then copy
# only that virtualenv into a clean slim image that runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY migrations ./migrations
# Every dependency pinned and hash-checked (requirements.lock, made from pyproject.toml by
# `make lock`; a test keeps the two in step), then the bot itself, resolving nothing.
RUN /opt/venv/bin/pip install --require-hashes -r requirements.lock
RUN /opt/venv/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /app --create-home bot
COPY --from=build /opt/venv /opt/venv
COPY --chown=bot:bot config/bot.example.toml config/manifest.yml config/bot-iam-policy.json /app/config/
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    BOT_CONFIG=/app/config/bot.toml \
    DATABASE_URL=sqlite:////app/data/aws-access-bot.db \
    LOG_FORMAT=json
RUN mkdir -p /app/data && chown bot:bot /app/data
VOLUME ["/app/data"]
USER bot
EXPOSE 3000
# No curl in slim images: the stdlib does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4).status == 200 else 1)"]
CMD ["aws-access-bot", "run"]
