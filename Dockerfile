# The archive's image: the API and the worker run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-osd \
      openssl \
      libreoffice-core-nogui libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk \
      fonts-dejavu-core fonts-droid-fallback \
      clamav \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv

WORKDIR /app
# Compiled bytecode in the image: commands start without compiling what they import.
ENV UV_COMPILE_BYTECODE=1
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY . .
RUN uv sync --locked --no-dev

ENV ARCHIVE_DATA_DIR=/data \
    ARCHIVE_HOST=0.0.0.0 \
    PATH=/app/.venv/bin:$PATH
VOLUME /data
EXPOSE 8000
CMD ["contract-archive", "serve"]
