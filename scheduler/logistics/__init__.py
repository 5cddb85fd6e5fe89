"""Logistics: who goes to an occurrence (delegations nominated by asked units, invited guests), rosters, manifests."""
