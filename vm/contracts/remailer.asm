; remailer.asm - sells postage and feeds letters into the validators' mix.
;
; The remailer holds no secret and sees no plaintext: a letter arrives as a
; submission (a cell encrypted to the validators' mail key, with a proof
; bound to the transaction that carries it), and the remailer passes it on
; to the mix, where the validators shuffle and decrypt whole batches
; (docs/spec/mail.md, docs/guide/mail.md).
;
; - buy() is paid (a pay_call): every PRICE coin buys its caller one
;   prepaid letter, the change goes back. Returns the caller's letters.
; - send(submission) spends one of the caller's letters and sends the
;   submission to the mix (the system address MIX) as submit(submission),
;   with POSTAGE_GAS gas. The remailer pays the mix's postage from its own
;   credits: that gas from its cpu (what the mix does not use comes back)
;   and the message's bytes from its net. Without a prepaid letter send
;   reverts before anything is sent, so nobody can drain the remailer.
;   Returns the caller's letters left.
; - postage(address) -> letters prepaid by address; price() -> PRICE.
;
; When its credits run out the ledger evicts it, as any contract: its
; storage (the prepaid letters) is deleted and what is left at its address
; (the coin it earned) goes to its deployer.
;
; Storage:  "l" || address -> letters prepaid by that address.

.const PRICE 1000                       ; coin per letter
.const POSTAGE_GAS 500000               ; gas each letter's message carries to the mix
.const MIX x"0f80224e05975c004802ad844db98980ccd99849"

; buy() -> letters held by the caller, after this purchase
.entry buy -> int
    CALLVALUE                           ; [paid]
    DUP 1
    PUSH PRICE
    DIV                                 ; [paid letters]
    DUP 1
    ISZERO
    JUMPI too_little
    DUP 1
    PUSH PRICE
    MUL                                 ; [paid letters cost]
    DUP 3
    SWAP 1
    SUB                                 ; [paid letters change]
    DUP 1
    ISZERO
    JUMPI no_change
    CALLER
    SWAP 1                              ; [paid letters caller change]
    TRANSFER                            ; [paid letters]
    JUMP credit
no_change:
    POP                                 ; [paid letters]
credit:
    CALLER
    CALL held                           ; [paid letters held]
    ADD                                 ; [paid total]
    DUP 1
    CALLER
    CALL store                          ; [paid total]
    SWAP 1
    POP
    RET
too_little:
    PUSH "postage is 1000 coin a letter: pay at least that"
    REVERT

; send(submission) -> letters the caller has left
.entry send bytes -> int
    CALLER
    CALL held                           ; [submission held]
    DUP 1
    ISZERO
    JUMPI unpaid
    PUSH 1
    SUB                                 ; [submission left]
    DUP 1
    CALLER
    CALL store                          ; [submission left]
    PUSH MIX
    PUSH "submit"
    PUSH POSTAGE_GAS
    DUP 5                               ; [submission left MIX "submit" gas submission]
    SEND 1
    SWAP 1
    POP
    RET
unpaid:
    PUSH "no postage: buy letters first (a pay_call of buy)"
    REVERT

; postage(address) -> letters prepaid by address
.entry postage bytes -> int
    CALL held
    RET

; price() -> coin per letter
.entry price -> int
    PUSH PRICE
    RET

; Letters prepaid by an address.
.func held bytes -> int
    CALL key
    SLOAD
    BTOI
    RET

; store(count, address): keep count letters for address (none: delete).
.func store int bytes ->
    CALL key                            ; [count key]
    DUP 2
    ISZERO
    JUMPI clear
    SWAP 1
    ITOB
    SSTORE
    RET
clear:
    SDEL
    POP
    RET

; Storage key of an address's letters: "l" || address.
.func key bytes -> bytes
    PUSH "l"
    SWAP 1
    CONCAT
    RET
