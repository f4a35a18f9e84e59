# Bulle: one binary, built with CGO for SQLite (mattn/go-sqlite3).
# See docs/deploy.md.

FROM golang:1.26-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO for SQLite; -trimpath and stripped symbols for a smaller, reproducible binary.
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/bulle ./cmd/bulle

# The same Debian release as the build image, so the glibc the binary links to is there.
FROM debian:trixie-slim
# ca-certificates: SMTP over TLS. curl: the HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin bulle \
 && mkdir -p /data /articles \
 && chown bulle:bulle /data
COPY --from=build /out/bulle /usr/local/bin/bulle
# The product's own help center, as a default; mount yours over /articles.
COPY --chown=root:root articles/ /articles/
USER bulle
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["bulle"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--data", "/data", "--articles", "/articles"]
