# syntax=docker/dockerfile:1
# One image for every role: the compose file picks it with `--role api|worker|indexer`.
ARG BUN_VERSION=1.4.5

# Only the workspace manifests survive this stage, so the install layer below is rebuilt when
# dependencies change, not on every source edit (a plain COPY of kit/*/package.json would
# flatten them into one folder).
FROM oven/bun:${BUN_VERSION} AS manifests
WORKDIR /src
COPY kit ./kit
RUN find kit -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM oven/bun:${BUN_VERSION} AS deps
WORKDIR /app
COPY package.json bun.lock ./
COPY --from=manifests /src/kit ./kit
RUN bun install --frozen-lockfile --production

# The reviewers' console (served by the api at /console) is static files built with Vite, which is
# a development dependency: built here with the full install, and only its dist/ is kept.
FROM oven/bun:${BUN_VERSION} AS console
WORKDIR /app
COPY package.json bun.lock tsconfig.base.json ./
COPY --from=manifests /src/kit ./kit
RUN bun install --frozen-lockfile
COPY kit ./kit
RUN bun run --cwd kit/console build

FROM oven/bun:${BUN_VERSION} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
# The isolated linker keeps packages in node_modules/.bun and links them from each
# workspace's own node_modules, so both levels are needed; /app/kit from deps holds exactly
# the manifests and kit/*/node_modules.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/kit ./kit
COPY package.json bun.lock tsconfig.base.json ./
# Migrations are applied at start-up (DATABASE_MIGRATE), so they ship with the code.
COPY drizzle ./drizzle
COPY kit ./kit
COPY --from=console /app/kit/console/dist ./kit/console/dist
# Files stay root-owned: the server has no reason to rewrite its own code.
USER bun
EXPOSE 3000
# No HEALTHCHECK here: only the api role serves HTTP; compose checks /ready on that service.
ENTRYPOINT ["bun", "kit/api/src/main.ts"]
CMD ["--role", "all"]
