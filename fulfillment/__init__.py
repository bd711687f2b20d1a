"""Getting orders to shoppers: fulfilments shipped from a store or warehouse, pickups with a code and QR
handed over at the counter (and expired when not collected), and returns of any order at any store."""
