# One image for every process: web, worker, the Gmail simulator (demo only) and the migrate step.
# Node 22 (an LTS line until April 2027) is the line CI tests on (.ci/run) and the oldest the code
# supports (package.json engines); the bundles in dist/ target it.
# The tag is not pinned to a digest yet: pin it (node:22-trixie-slim@sha256:…) where a registry
# can be asked for the digest, and update it with the base image's security releases.

# Build: every package, the type-check and the bundles.
FROM node:22-trixie-slim AS build
WORKDIR /app
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: the production dependencies alone (no compilers, test tools, tsx or embedded
# PostgreSQL), the bundles, and an unprivileged user.
FROM node:22-trixie-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["npm", "run", "web"]
