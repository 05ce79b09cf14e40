# The stage image of `edgepipe deploy --k8s` (README.md, "Running a plan on k3s"): Debian 12 with
# the packages of scripts/setup.sh that building and running edgepipe needs (`setup.sh
# --packages image`: no test tools), and kubectl (Debian's kubernetes-client) for the
# controller's wait for the stage hosts. One image serves `edgepipe stage` and `edgepipe
# dispatch`. Build it on (or for) the devices' architecture:
#   docker build -t edgepipe:latest .
FROM debian:12
COPY scripts/setup.sh /src/scripts/setup.sh
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       $(bash /src/scripts/setup.sh --packages image) \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN rm -rf /src/build* \
    && cmake -S /src -B /src/build -DCMAKE_BUILD_TYPE=Release -DEDGEPIPE_SANITIZE=OFF \
    && cmake --build /src/build -j "$(nproc)" --target edgepipe \
    && install -m 755 /src/build/cli/edgepipe /usr/local/bin/edgepipe \
    && rm -rf /src/build \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin edgepipe
# A numeric user, so that the pods' runAsNonRoot can check it.
USER 10001
ENTRYPOINT ["edgepipe"]
