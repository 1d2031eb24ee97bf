"""The deterministic metered virtual machine: module format, assembler,
disassembler, deploy-time validator, interpreter and gas schedule.

vm/ imports nothing from ledger, consensus or cli; the ledger reaches
contracts through the Host interface defined here.
"""
