# A stand-in for Docker Hub's haproxy:2.6, built only where Docker Hub cannot be reached (see
# tests/docker_support.py): Debian bookworm's HAProxy 2.6, run like the official image, as the
# unprivileged user haproxy, reading its configuration where the official image reads it.
# It starts from the Python stand-in (Debian bookworm), which the test builds first.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends haproxy \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /usr/local/etc/haproxy
USER haproxy
# The official image stops gracefully on SIGUSR1 and runs HAProxy in master-worker mode, in the foreground.
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
