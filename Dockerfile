# carafe in a container: a release build, then only the binary and the site on a distroless
# base (glibc, no shell, no package manager), running as a non-root user.
#
#   docker build -t carafe .
#   docker run --rm -p 8080:8080 --read-only carafe
#
# carafe is PID 1 (exec-form ENTRYPOINT, no init needed): SIGTERM from `docker stop` drains
# in-flight requests for up to --shutdown-timeout (25 s), then exits 0. docker sends SIGKILL
# after 10 s by default: run with `--stop-timeout 30` (or `docker stop -t 30`) to allow the
# whole drain. With $PORT set and no TLS option carafe
# serves plain HTTP on 0.0.0.0:$PORT, for a router or ingress that terminates TLS. It writes
# nothing to disk in that mode, so a read-only root file system works.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && cp target/release/carafe /carafe

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /carafe /usr/local/bin/carafe
COPY templates/ /site/templates/
COPY static/ /site/static/
USER nonroot:nonroot
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/carafe", "serve", "--root", "/site", "--health-path", "/healthz"]
