# A stand-in for Docker Hub's redis:7.0.15, built only where Docker Hub cannot be reached (see
# tests/docker_support.py): Debian bookworm's Redis 7.0.15, run like the official image, as the
# unprivileged user redis in /data, in the foreground. It starts from the Python stand-in (Debian
# bookworm), which the test builds first. deploy/compose.yaml gives its whole command line.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data \
    && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server"]
