"""Order processes: quote-to-order and fulfilment on the process engine, over the OrderDesk and OrderStatusBoard
ports."""
