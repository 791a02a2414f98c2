"""Push: fans notifications out to storefront browsers over SSE. Stateless."""
