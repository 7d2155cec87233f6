# One image for web, sandbox, worker and beat (docker-compose.yml chooses the command).
FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN DEBUG=false SECRET_KEY=build-only UI_API_KEY=build-only FIELD_ENCRYPTION_KEYS=build-only python manage.py collectstatic --no-input -v0
USER nobody
EXPOSE 8000 8001
CMD ["gunicorn", "rally.wsgi:application", "--bind", "0.0.0.0:8000"]
