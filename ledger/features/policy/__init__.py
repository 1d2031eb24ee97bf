"""Policy accounts and governance: k-of-n accounts that act through
proposals, and the governance policy that may change validators and spend
under the validators' threshold key."""
