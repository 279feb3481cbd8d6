# mandate: Envoy ext_authz v3 server. Three stages, each running the same commands as the README and CI
# (`npm ci`, `npm run build`), so CI proves every step this file takes:
#   build    node:20-bookworm-slim, all dependencies, compiles TypeScript to dist/
#   deps     node:20-bookworm-slim, production dependencies only (`npm ci --omit=dev`)
#   runtime  distroless Node 20, non-root (uid 65532), no shell, no package manager
#
#   docker build -t mandate .
#   docker run --rm -p 9191:9191 -p 9464:9464 mandate        # serves the bundled example policies
#
# The runtime listens on 0.0.0.0 (MANDATE_GRPC_ADDR / MANDATE_HTTP_ADDR below): inside a container
# the loopback defaults of `mandate serve` would be unreachable. Kubernetes overrides the command's
# arguments (deploy/k8s/deployment.yaml) and probes GET /healthz and /readyz on port 9464; the
# HEALTHCHECK below is for plain Docker, and uses node itself because the image has no shell or curl.
# `docker stop` sends SIGTERM and waits 10 s by default, the same as mandate's default drain timeout:
# give it more (`docker stop -t 15`) if you raise --drain-timeout.

# Tags, not digests: pin `@sha256:…` digests in your own registry mirror and let your update bot bump them.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build --silent

FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force

FROM gcr.io/distroless/nodejs20-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    MANDATE_GRPC_ADDR=0.0.0.0:9191 \
    MANDATE_HTTP_ADDR=0.0.0.0:9464
# The same layout as the npm package ("files": dist, protos, examples).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY protos ./protos
COPY examples ./examples
USER 65532:65532
EXPOSE 9191 9464
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/nodejs/bin/node", "dist/cli/main.js"]
CMD ["serve", "--policies", "examples/policies"]
