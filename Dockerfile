# Same steps as the Makefile: GraphiQL's npm assets (`make assets`), install the package,
# `gql migrate`, then `gql serve`.
FROM node:20-slim AS graphiql
WORKDIR /graphiql
COPY graphiql/package.json graphiql/package-lock.json graphiql/vendor.mjs ./
RUN npm ci --no-audit --no-fund && node vendor.mjs /vendor

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY gql ./gql
COPY --from=graphiql /vendor ./gql/static/graphiql/vendor
# The versions CI ran the suite on.
RUN pip install --constraint constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin gql \
    && mkdir -p /data && chown gql /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY migrations ./migrations
COPY alembic.ini schema.graphql ./
# Production by default: the container refuses to start without a real JWT_SECRET. On its
# SQLite default, uploaded images go to the volume too (on PostgreSQL: in the database).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite+aiosqlite:////data/gql.db \
    MEDIA_DIR=/data/media
USER gql
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# exec: uvicorn gets SIGTERM itself and shuts down gracefully.
CMD ["sh", "-c", "gql migrate && exec gql serve"]
