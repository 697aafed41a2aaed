"""Ingest: the one stream connection to a board, parsed defensively into complete JPEGs.

``httpwire`` reads the HTTP response (status line optional, chunked or plain),
``mjpeg`` splits the multipart body into JPEG frames, ``stream`` holds the
connection, reconnects and watches for stalls. Output: :class:`JpegFrame`.
"""
