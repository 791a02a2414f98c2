# One image for every StorePulse service; the command picks which one runs:
#   docker run storepulse ingest | worker | push | topics
# Dependencies come from requirements.lock alone (runtime only, every file hash-checked, wheels
# only); no dev broker or Redis, no load tests, no pip in the result.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --require-hashes --no-deps --only-binary :all: \
        -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    STOREPULSE_HOST=0.0.0.0 \
    STOREPULSE_WORKER_DATADIR=/var/lib/storepulse/worker
COPY --from=dependencies /opt/venv /opt/venv
# The code runs from /app (`python -m storepulse`), push serves widget/ from beside its package.
WORKDIR /app
COPY storepulse storepulse
COPY shopify shopify
COPY ingest ingest
COPY admin admin
COPY streams streams
COPY push push
COPY widget widget
RUN python -m compileall -q /app \
 && useradd --system --uid 10001 --home-dir /app storepulse \
 && mkdir -p /var/lib/storepulse && chown storepulse /var/lib/storepulse
USER storepulse

EXPOSE 8000 8001 8002
ENTRYPOINT ["python", "-m", "storepulse"]
CMD ["--help"]
