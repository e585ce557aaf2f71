# syntax=docker/dockerfile:1
# The panoptes image: a static binary on an empty base, as a non-root user,
# with the shipped profiles and a volume for state. Build (BuildKit; any
# machine with Docker or Podman/Buildah, none needed for `make test`):
#
#   make image                         # docker build, tagged panoptes:<version>
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=$(scripts/version.sh) -t panoptes .
#
# Run: docker run -p 9301:9301 -v panoptes-state:/var/lib/panoptes panoptes
# (the default config polls nothing: mount your own at /etc/panoptes).
# Health: GET :9301/readyz (200 once polling, 503 while starting or stopping)
# and /healthz; the image has no shell or curl for a HEALTHCHECK command, so
# let the orchestrator probe (deploy/kubernetes, deploy/compose).

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version comes from build arguments: the build context has no .git.
ARG TARGETOS=linux TARGETARCH=amd64 VERSION=dev COMMIT=unknown DATE=unknown
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    VERSION=$VERSION COMMIT=$COMMIT DATE=$DATE \
    go build -trimpath -ldflags "-s -w $(./scripts/version.sh --ldflags)" -o /out/usr/bin/panoptes ./cmd/panoptes \
 && mkdir -p /out/etc/panoptes /out/usr/share/panoptes/profiles /out/var/lib/panoptes /out/etc/ssl/certs \
 && cp profiles/*.yaml profiles/README.md /out/usr/share/panoptes/profiles/ \
 && cp deploy/container/panoptes.yaml packaging/debian/devices.csv /out/etc/panoptes/ \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && echo 'panoptes:x:10001:10001:panoptes:/var/lib/panoptes:/sbin/nologin' >/out/etc/passwd \
 && echo 'panoptes:x:10001:' >/out/etc/group \
 && chown -R 10001:10001 /out/var/lib/panoptes

FROM scratch
COPY --from=build /out/ /
USER 10001:10001
WORKDIR /var/lib/panoptes
VOLUME /var/lib/panoptes
# 9301 HTTP (/metrics, /healthz, /readyz); 4222 bus clients, 6222 cluster
# routes, 7422 leaf connections, 9273 the prometheus sink: when configured.
EXPOSE 9301
ENTRYPOINT ["/usr/bin/panoptes"]
CMD ["run", "--config", "/etc/panoptes/panoptes.yaml"]
