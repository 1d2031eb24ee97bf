"""Bank: transfers of the native coin and of other assets, the asset registry
(issue, mint, burn) and the resource credits minted to validators."""
