# The broker as a container image (see docker-compose.yml for a three-node KRaft cluster).
# Configure it the way Apache Kafka's image is configured: KAFKA_* environment variables
# (KAFKA_NODE_ID -> node.id, ...) and CLUSTER_ID. Data lives in /var/lib/kafka/data.

# Production dependencies. lz4 and zstd-napi build native addons with node-gyp, so this stage
# has a compiler; the final image only gets the built node_modules.
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# The TypeScript build (needs the dev dependencies: typescript).
FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY wire ./wire
COPY log ./log
COPY kraft ./kraft
COPY broker ./broker
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    KAFKA_LOG_DIRS=/var/lib/kafka/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /var/lib/kafka/data && chown -R node:node /var/lib/kafka
USER node
VOLUME ["/var/lib/kafka/data"]
EXPOSE 9092 9093
# Healthy = the client listener answers ApiVersions (exit 0), within the script's 5 s timeout.
HEALTHCHECK --interval=5s --timeout=6s --start-period=15s --retries=12 \
  CMD ["node", "dist/broker/cluster/healthcheck.js", "127.0.0.1:9092"]
CMD ["node", "dist/broker/main.js"]
