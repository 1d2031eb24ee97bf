"""A validator node's part in the mix: its duties as a pure state machine
(``duties``: shuffle when its turn comes, post its decryption shares) and the
service that runs them after every commit and submits the transactions
(``service``)."""
