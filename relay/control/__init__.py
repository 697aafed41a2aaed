"""Control: viewers' requests checked, forwarded to the board one at a time, state pushed back.

``schema`` (every variable, the check of a request), ``framesizes`` (the two
enum tables and which one a board uses), ``requestqueue`` and ``breaker`` (pure
cores: coalescing and the circuit breaker), ``boardclient`` (HTTP to the board),
``forwarder`` (the queue's loop: retries, probe, polling), ``service`` (one
camera's control: requests in, state out to every viewer).
"""
