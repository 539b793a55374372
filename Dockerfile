# One image for every process: web, worker, the Gmail simulator (demo only) and the migrate step.
# Node 22 (an LTS line until April 2027) is the line CI tests on (.ci/run) and the oldest the code
# supports (package.json engines); the bundles in dist/ target it.
# The base is pinned by digest (the multi-platform index of node:22-trixie-slim, Node 22.23.2,
# published 2026-09-19), so a rebuild gets the same bytes; docs/dependencies.md says how to move
# it with the image's security releases.
ARG NODE_IMAGE=node:22-trixie-slim@sha256:c5849ff9c9ebcd66615412f0b548ca5b8ecaef84003dc9ac2e077ebe46aaa3f6

# Build: every package, the type-check and the bundles.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: the production dependencies alone (no compilers, test tools, tsx or embedded
# PostgreSQL), the bundles, and an unprivileged user.
FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["npm", "run", "web"]
