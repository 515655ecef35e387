# syntax=docker/dockerfile:1
# One image for the six services of the ward platform. The command chooses the service:
#   docker build -t ward-platform .
#   docker run ... ward-platform python -m services.registry
# or a default is baked in at build time:
#   docker build --build-arg SERVICE=registry -t ward-registry .
# Configuration comes from the environment (docs/containers.md); the image holds no secret.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the dependencies, at the versions of requirements.lock, in a virtualenv ------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY pyproject.toml requirements.lock ./
# The runtime dependencies of pyproject.toml (not the dev extra: no pytest or ruff in the image), each at exactly
# the version requirements.lock pins; the lock covers the whole tree, so nothing unpinned comes in.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > runtime.in \
    && pip install -r runtime.in -c requirements.lock \
    && pip check

# ---- runtime: the virtualenv and the source, run as an unprivileged user ----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=""
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    HTTP_HOST=0.0.0.0 \
    WARD_SERVICE=${SERVICE}
# A fixed numeric uid, so that Kubernetes can check runAsNonRoot (deploy/k8s).
RUN groupadd --system --gid 10001 ward \
    && useradd --system --uid 10001 --gid ward --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ward
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only to the service: the root filesystem may be mounted read-only.
COPY shared ./shared
COPY services ./services
COPY deploy/topics.json deploy/healthcheck.py ./deploy/
# Byte-code compiled now, as the running service cannot write it.
# the console's catalogues: .po committed, .mo compiled here (as `make install` does on a machine)
RUN pybabel compile -d services/console/locales && python -m compileall -q shared services
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005 8006 8007 8008 8009
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
# `sh -c exec` so that the service is PID 1's replacement and receives SIGTERM (graceful shutdown).
CMD ["sh", "-c", "exec python -m \"services.${WARD_SERVICE:?build with --build-arg SERVICE=<name> or run: python -m services.<name>}\""]
