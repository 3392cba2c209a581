# gitlab-sync: a drop-in for Port's port-ocean-gitlab-v2 image.
# Configure it with the same OCEAN__… and APPLICATION__… variables.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# A static binary: no libc, so it runs on distroless/static.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gitlab-sync ./examples/gitlab-sync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gitlab-sync /usr/local/bin/gitlab-sync
USER nonroot:nonroot
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/gitlab-sync"]
