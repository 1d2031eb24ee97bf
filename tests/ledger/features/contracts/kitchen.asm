; kitchen.asm: one entry point per ledger feature the contract tests exercise.

.entry store bytes bytes ->
    SSTORE
    RET

.entry remove bytes ->
    SDEL
    RET

.entry get bytes -> bytes
    SLOAD
    RET

.entry fail ->
    PUSH "nope"
    REVERT

.entry spin ->
loop:
    JUMP loop

; tick(): count scheduled runs in "ticks".
.entry tick ->
    PUSH "ticks"
    PUSH "ticks"
    SLOAD
    BTOI
    PUSH 1
    ADD
    ITOB
    SSTORE
    RET

.entry emit bytes bytes ->
    EMIT
    RET

.entry pay bytes int ->
    TRANSFER
    RET

; ping(to, gas): send pong("hello") to `to` with `gas`.
.entry ping bytes int ->
    SWAP 1
    PUSH "pong"
    DUP 3
    PUSH "hello"
    SEND 1
    POP
    RET

; pong(x): emit it and reply got(x) to the caller.
.entry pong bytes ->
    PUSH "pong"
    DUP 2
    EMIT
    CALLER
    PUSH "got"
    PUSH 50000
    DUP 4
    SEND 1
    POP
    RET

.entry got bytes ->
    PUSH "reply"
    SWAP 1
    SSTORE
    RET

; note(x): append x to "log".
.entry note bytes ->
    PUSH "log"
    PUSH "log"
    SLOAD
    DUP 3
    CONCAT
    SSTORE
    POP
    RET

; relay(to, x): send note(x) to `to`.
.entry relay bytes bytes ->
    SWAP 1
    PUSH "note"
    PUSH 100000
    DUP 4
    SEND 1
    POP
    RET

; fan(b, c): send relay(c, "x3") to b, then note("x2") to c.
.entry fan bytes bytes ->
    DUP 2
    PUSH "relay"
    PUSH 100000
    DUP 4
    PUSH "x3"
    SEND 2
    DUP 1
    PUSH "note"
    PUSH 100000
    PUSH "x2"
    SEND 1
    POP
    POP
    RET

; trip(c): send fail() to c, then note("ok") to c.
.entry trip bytes ->
    DUP 1
    PUSH "fail"
    PUSH 100000
    SEND 0
    PUSH "note"
    PUSH 100000
    PUSH "ok"
    SEND 1
    RET

; flood(to, n): send n messages note("m") to `to`.
.entry flood bytes int ->
again:
    DUP 1
    ISZERO
    JUMPI done
    DUP 2
    PUSH "note"
    PUSH 1000
    PUSH "m"
    SEND 1
    PUSH 1
    SUB
    JUMP again
done:
    POP
    POP
    RET

; big(to, gas): send note("x") with `gas` gas.
.entry big bytes int ->
    SWAP 1
    PUSH "note"
    DUP 3
    PUSH "x"
    SEND 1
    POP
    RET

.entry who -> bytes bytes int int
    CALLER
    ADDRESS
    HEIGHT
    TIME
    RET
