; batch_relay.asm - a relay that batches messages and forwards them.
;
; An example of contract messaging, schedules and eviction. It is NOT
; anonymous: its messages, routes and shuffle seed are public, so anyone
; reading the chain links senders to next hops. Anonymous mail is the
; validators' verifiable mix, fed by remailer.asm (docs/guide/mail.md).
;
; Anyone sends it an opaque, already encrypted payload with a next-hop
; address and postage (the gas the delivery message carries). It holds the
; messages until K have gathered, or until DELAY blocks have passed since
; the oldest one arrived (checked by `tick`, which the ledger schedules
; every few blocks); then it delivers the whole batch in a shuffled order,
; each as a message `deliver(payload)` to its next hop: a mailbox account,
; or another relay, whose `deliver` entry reads the routing header.
;
; The shuffle is Fisher-Yates driven by SHA-256: seed = sha256(batch digest
; || height), and step i swaps cell i with cell sha256(seed || i) mod (i+1).
; The batch digest chains every message's payload, hop and postage as it
; arrives, so the order depends on the whole batch and the block height,
; and every validator computes the same order.
;
; Storage:  "n" count held, "first" height of the oldest, "seed" batch
;           digest, "p"/"h"/"g" || index(32 bytes): payload, hop, postage.
; Memory:   cell 0 count, cell 1 loop index, cells PERM.. the permutation.
;
; The contract lives as long as its credits last; the ledger deletes it
; (and its storage) when they run out.

.const K 4                      ; batch size
.const DELAY 10                 ; blocks the oldest message may wait
.const MAX_PAYLOAD 2048
.const MAX_HOP 64
.const MAX_POSTAGE 1000000
.const PERM 2
.memory 18                      ; PERM + 16 permutation cells (K <= 16)

; send(payload, next_hop, postage) -> messages still held
.entry send bytes bytes int -> int
    CALL enqueue
    RET

; deliver(packet) -> messages still held. A packet is
; hop length (1 byte) || hop || postage (8 bytes, big-endian) || payload.
.entry deliver bytes -> int
    DUP 1
    LEN
    PUSH 10
    LT
    JUMPI short                 ; [packet]
    DUP 1
    PUSH 0
    PUSH 1
    SLICE
    BTOI                        ; [packet hop_len]
    DUP 1
    PUSH 9
    ADD
    DUP 3
    LEN
    GT
    JUMPI truncated             ; hop_len + 9 > len(packet)
    DUP 2
    DUP 2
    PUSH 9
    ADD                         ; [packet hop_len packet start]
    DUP 2
    LEN
    DUP 2
    SUB                         ; [packet hop_len packet start rest]
    SLICE                       ; [packet hop_len payload]
    DUP 3
    PUSH 1
    DUP 4
    SLICE                       ; [packet hop_len payload hop]
    DUP 4
    DUP 4
    PUSH 1
    ADD
    PUSH 8
    SLICE
    BTOI                        ; [packet hop_len payload hop postage]
    CALL enqueue                ; [packet hop_len held]
    SWAP 2
    POP
    POP
    RET
short:
    PUSH "packet too short"
    REVERT
truncated:
    PUSH "packet truncated"
    REVERT

; tick() -> messages delivered: flush if the oldest waited DELAY blocks.
.entry tick -> int
    CALL count
    DUP 1
    ISZERO
    JUMPI idle                  ; [n]
    PUSH "first"
    SLOAD
    BTOI
    PUSH DELAY
    ADD
    HEIGHT
    GT
    JUMPI idle                  ; first + DELAY > height: keep waiting
    POP
    CALL flush
    RET
idle:
    POP
    PUSH 0
    RET

; pending() -> messages held
.entry pending -> int
    CALL count
    RET

; Check and store one message; flush when K are held.
.func enqueue bytes bytes int -> int
    DUP 1
    PUSH MAX_POSTAGE
    GT
    JUMPI bad_postage           ; [payload hop postage]
    DUP 2
    LEN
    ISZERO
    JUMPI bad_hop
    DUP 2
    LEN
    PUSH MAX_HOP
    GT
    JUMPI bad_hop
    DUP 3
    LEN
    ISZERO
    JUMPI bad_payload
    DUP 3
    LEN
    PUSH MAX_PAYLOAD
    GT
    JUMPI bad_payload
    CALL count                  ; [payload hop postage n]
    DUP 1
    PUSH "p"
    CALL key
    DUP 5
    SSTORE
    DUP 1
    PUSH "h"
    CALL key
    DUP 4
    SSTORE
    DUP 1
    PUSH "g"
    CALL key
    DUP 3
    ITOB
    SSTORE
    DUP 1
    JUMPI not_first
    PUSH "first"
    HEIGHT
    ITOB
    SSTORE
not_first:
    PUSH "seed"
    SLOAD
    DUP 5
    CONCAT
    DUP 4
    CONCAT
    DUP 3
    ITOB
    CONCAT
    SHA256                      ; [payload hop postage n digest]
    PUSH "seed"
    SWAP 1
    SSTORE
    PUSH 1
    ADD                         ; [payload hop postage n+1]
    PUSH "n"
    DUP 2
    ITOB
    SSTORE
    DUP 1
    PUSH K
    LT
    JUMPI keep
    CALL flush
    POP
    POP
    POP
    POP
    POP
    PUSH 0
    RET
keep:
    SWAP 3
    POP
    POP
    POP
    RET
bad_postage:
    PUSH "postage out of range"
    REVERT
bad_hop:
    PUSH "next hop must be 1..64 bytes"
    REVERT
bad_payload:
    PUSH "payload must be 1..2048 bytes"
    REVERT

; Deliver every held message in shuffled order; returns how many.
.func flush -> int
    CALL count
    DUP 1
    ISZERO
    JUMPI empty                 ; [n]
    DUP 1
    PUSH 0
    MSTORE
    PUSH "seed"
    SLOAD
    HEIGHT
    ITOB
    CONCAT
    SHA256                      ; [n seed]
    PUSH 0
    PUSH 1
    MSTORE
fill:                           ; perm[i] = i for i < n
    PUSH 1
    MLOAD
    PUSH 0
    MLOAD
    LT
    ISZERO
    JUMPI shuffle
    PUSH 1
    MLOAD
    DUP 1
    PUSH PERM
    ADD
    MSTORE
    PUSH 1
    MLOAD
    PUSH 1
    ADD
    PUSH 1
    MSTORE
    JUMP fill
shuffle:                        ; for i = n-1 down to 1
    PUSH 0
    MLOAD
    PUSH 1
    SUB
    PUSH 1
    MSTORE
shuffle_step:
    PUSH 1
    MLOAD
    ISZERO
    JUMPI deliver
    DUP 1
    PUSH 1
    MLOAD
    ITOB
    CONCAT
    SHA256
    BTOI                        ; [n seed r]
    PUSH 1
    MLOAD
    PUSH 1
    ADD
    MOD
    PUSH PERM
    ADD                         ; [n seed cell_j]
    PUSH 1
    MLOAD
    PUSH PERM
    ADD                         ; [n seed cell_j cell_i]
    DUP 2
    MLOAD
    DUP 2
    MLOAD                       ; [n seed cell_j cell_i v_j v_i]
    DUP 4
    MSTORE                      ; cell_j := v_i
    SWAP 1
    MSTORE                      ; cell_i := v_j
    POP
    PUSH 1
    MLOAD
    PUSH 1
    SUB
    PUSH 1
    MSTORE
    JUMP shuffle_step
deliver:
    POP                         ; [n]
    PUSH 0
    PUSH 1
    MSTORE
deliver_step:
    PUSH 1
    MLOAD
    PUSH 0
    MLOAD
    LT
    ISZERO
    JUMPI done
    PUSH 1
    MLOAD
    PUSH PERM
    ADD
    MLOAD
    CALL deliver_one
    PUSH 1
    MLOAD
    PUSH 1
    ADD
    PUSH 1
    MSTORE
    JUMP deliver_step
done:
    PUSH "n"
    SDEL
    PUSH "first"
    SDEL
    PUSH "seed"
    SDEL
    PUSH "batch"
    DUP 2
    ITOB
    EMIT
empty:
    RET

; Send message `index` to its next hop and forget it.
.func deliver_one int ->
    DUP 1
    PUSH "h"
    CALL key
    SLOAD                       ; [index hop]
    PUSH "deliver"
    DUP 3
    PUSH "g"
    CALL key
    SLOAD
    BTOI                        ; [index hop "deliver" postage]
    DUP 4
    PUSH "p"
    CALL key
    SLOAD                       ; [index hop "deliver" postage payload]
    SEND 1
    DUP 1
    PUSH "p"
    CALL key
    SDEL
    DUP 1
    PUSH "h"
    CALL key
    SDEL
    PUSH "g"
    CALL key
    SDEL
    RET

; Number of messages held.
.func count -> int
    PUSH "n"
    SLOAD
    BTOI
    RET

; Storage key: prefix || index as 32 bytes.
.func key int bytes -> bytes
    SWAP 1
    ITOB
    CONCAT
    RET
