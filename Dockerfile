# Vigie worker and webhook receiver. Multi-stage: build a wheel, install it
# into a clean virtualenv, run as an unprivileged user with no dev tools.
# No dev code either: .dockerignore leaves out starters/dev (the dev stack, its
# SMTP sink and Opsgenie stand-in), and no extra is installed. Versions come
# from requirements.lock, the ones the tests passed with.
FROM python:3.11.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/vigie
COPY pyproject.toml README.md requirements.lock ./
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY starters ./starters
RUN /opt/vigie/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/vigie/bin/pip install --no-cache-dir -c requirements.lock .

FROM python:3.11.11-slim-bookworm
RUN groupadd --system vigie && useradd --system --gid vigie --home-dir /app vigie
COPY --from=build /opt/vigie /opt/vigie
COPY config /app/config
WORKDIR /app
ENV PATH=/opt/vigie/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VIGIE_CONFIG_DIR=/app/config \
    VIGIE_LOG_FORMAT=json \
    MPLCONFIGDIR=/tmp/matplotlib
USER vigie
EXPOSE 8080 9464
ENTRYPOINT ["vigie"]
CMD ["worker"]
