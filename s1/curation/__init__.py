"""s1's data curation: from a large question pool to the N examples worth training on."""
