"""The camera's JPEGs served as they are: the newest one as a snapshot, and as an MJPEG
stream to any number of clients (Home Assistant, NVRs, OctoPrint, ``ffmpeg``)."""
