# gitlab-sync: a drop-in for Port's port-ocean-gitlab-v2 image.
# Configure it with the same OCEAN__… and APPLICATION__… variables.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static binary: no libc, so it runs on distroless/static.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bin/gitlab-sync ./examples/gitlab-sync
# Port's port-ocean chart runs `ocean probe . --mode shallow` in its probe
# Job (command: ["ocean", "probe"]); the binary answers to that name too.
# distroless has no shell to make the link in, so it is made here and the
# folder copied with it.
RUN ln -s gitlab-sync /out/bin/ocean

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/ /usr/local/bin/
# The chart mounts a private CA (selfSignedCertificate.enabled) at
# /usr/local/share/ca-certificates/cert.crt. The program trusts that folder
# itself (OCEAN__SSL__CA_DIR); SSL_CERT_DIR makes Go's own roots include it
# too, for every TLS client (Kafka, Redis) whatever SSL_CERT_FILE says.
ENV SSL_CERT_DIR=/usr/local/share/ca-certificates:/etc/ssl/certs
# nonroot, by number: the chart's runAsNonRoot: true (without runAsUser) needs a
# numeric user to verify.
USER 65532:65532
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/gitlab-sync"]
