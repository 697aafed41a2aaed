# The relay as a container image, built from this repository:
#
#   docker build -t esp32-relay .
#   docker run --network host -v /etc/esp32-relay:/etc/esp32-relay:ro esp32-relay
#
# --network host: WebRTC carries the video over UDP between the relay's own addresses and
# the viewers' (ICE); behind Docker's bridge the relay would offer the container's address,
# which no viewer on the LAN can reach. The configuration is read from
# /etc/esp32-relay/relay.toml when it exists (ESP32_RELAY_CONFIG), else ESP32_RELAY_*
# variables configure everything (ESP32_RELAY_CAMERAS__0__URL=http://BOARD:81/stream).

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY relay ./relay
COPY signaling ./signaling
COPY web ./web
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN useradd --system --user-group --home-dir /var/lib/esp32-relay --create-home esp32-relay
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY deploy/relay.toml /usr/share/esp32-relay/relay.example.toml
COPY deploy/container-start /usr/local/bin/container-start
USER esp32-relay
WORKDIR /var/lib/esp32-relay
ENV PYTHONUNBUFFERED=1 \
    ESP32_RELAY_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# exec: the relay is PID 1 and gets SIGTERM itself (it closes viewers and the board cleanly).
ENTRYPOINT ["/usr/local/bin/container-start"]
