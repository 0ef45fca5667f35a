# Build a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sitrep ./cmd/sitrep \
 && mkdir -p /out/data

# Minimal runtime: no shell, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sitrep /sitrep
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV SITREP_DB=/data/sitrep.db SITREP_ADDR=:8080 SITREP_CONSOLE=off
VOLUME /data
EXPOSE 8080
USER nonroot
# distroless has no curl: the binary probes its own /readyz.
HEALTHCHECK --interval=30s --timeout=5s CMD ["/sitrep", "health"]
ENTRYPOINT ["/sitrep"]
CMD ["serve"]
