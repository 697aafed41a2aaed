"""Finding ESP32-CAM boards on the LAN: mDNS, or a bounded scan of an address range."""
