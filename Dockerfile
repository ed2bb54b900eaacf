# One image for web and worker. Front-end assets come from npm in a build stage.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VENDORSELECT_VAR_DIR=/var/lib/vendorselect
# Pango and HarfBuzz for WeasyPrint (PDF rendering in the worker).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=assets /app/node_modules ./node_modules
COPY . .
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://collectstatic-only/none python manage.py collectstatic --noinput \
    && useradd --system --home /app vendorselect \
    && mkdir -p /var/lib/vendorselect && chown vendorselect /var/lib/vendorselect
USER vendorselect
EXPOSE 8000
CMD ["gunicorn", "vendorselect.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "150"]
