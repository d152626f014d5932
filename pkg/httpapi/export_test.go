package httpapi

// StyleSource is the CSP source of a style sheet, for the tests.
var StyleSource = styleSourceOf
