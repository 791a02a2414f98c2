# One image for every StorePulse service; the command picks which one runs:
#   docker run storepulse ingest | worker | push | topics
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STOREPULSE_HOST=0.0.0.0

WORKDIR /app
# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p storepulse shopify ingest admin streams push loadtests \
 && pip install . \
 && pip uninstall -y storepulse
COPY storepulse storepulse
COPY shopify shopify
COPY ingest ingest
COPY admin admin
COPY streams streams
COPY push push
COPY loadtests loadtests
COPY widget widget
# Editable install: push serves widget/ from beside its package, so the code stays in /app.
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home-dir /app storepulse \
 && mkdir -p /var/lib/storepulse && chown storepulse /var/lib/storepulse
USER storepulse
ENV STOREPULSE_WORKER_DATADIR=/var/lib/storepulse/worker

EXPOSE 8000 8001 8002
ENTRYPOINT ["storepulse"]
CMD ["--help"]
