# Hashi: `docker build -t hashi .` then `docker run -e SLACK_BOT_TOKEN=… -e SLACK_SIGNING_SECRET=… -p 3000:3000 hashi`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HASHI_HOST=0.0.0.0 \
    HASHI_PORT=3000 \
    HASHI_DATABASE_URL=sqlite:////data/hashi.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY readmodel ./readmodel
COPY playbooks ./playbooks
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app hashi \
    && mkdir -p /data && chown hashi /data

USER hashi
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"HASHI_PORT\", \"3000\")}/healthz', timeout=4)"

ENTRYPOINT ["hashi"]
CMD ["serve"]
