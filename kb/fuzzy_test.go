package kb

import "testing"

func TestEditDistanceCountsSwapsAsOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		max  int
		want int
	}{
		{"server", "server", 2, 0},
		{"sevrer", "server", 2, 1}, // adjacent swap
		{"sauvegrade", "sauvegarde", 2, 1},
		{"serveru", "serveur", 2, 1},
		{"instalation", "installation", 2, 1}, // missing letter
		{"certifcate", "certificate", 2, 1},
		{"renewl", "renewal", 2, 1},
		{"réseau", "reseau", 2, 1}, // runes, not bytes
		{"abc", "xyz", 2, 3},       // beyond max: max+1
		{"", "ab", 2, 2},
	}
	for _, tt := range tests {
		if got := editDistance([]rune(tt.a), []rune(tt.b), tt.max); got != tt.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", tt.a, tt.b, tt.max, got, tt.want)
		}
	}
}
