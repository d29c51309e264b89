# agent-diary as a container: the diary repository is a volume, the service runs as a
# non-root user, credentials come from the environment (never baked into the image).
#   docker build -t agent-diary .
#   docker run -d --env-file /etc/agent-diary/env -v /srv/diary:/diary agent-diary
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 agentdiary

WORKDIR /opt/agent-diary
COPY pyproject.toml README.md ./
COPY agent_diary ./agent_diary
# From the copied checkout, never by name: `agent-diary` on the index is another project.
RUN pip install --no-cache-dir .

USER agentdiary
# The volume belongs to the host's user; git must be told it is safe to use.
RUN git config --global --add safe.directory /diary
ENV PYTHONUNBUFFERED=1
VOLUME ["/diary"]
WORKDIR /diary
ENTRYPOINT ["agent-diary"]
CMD ["run", "--repo", "/diary"]
