"""GraphQL surface for this area; the root schema merges its Query, Mutation and Subscription."""
