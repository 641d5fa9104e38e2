package apitest

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// defaultPerPage and maxPerPage bound per_page on the list endpoints (§2.2).
const (
	defaultPerPage = 25
	maxPerPage     = 100
)

// listQuery is the query of a list endpoint.
type listQuery struct {
	after   int64 // id[gt]
	perPage int
	filter  uint8 // bit i set: accept the value names[i]; 0: accept all
}

func (q listQuery) accepts(i uint8) bool { return q.filter == 0 || q.filter&(1<<i) != 0 }

// parseListQuery parses id[gt], per_page and the multi-value filter param
// ("state" or "status"), whose valid values are names. The filter is
// accepted as param=a,b, as param[]=a&param[]=b, or both; empty items are
// ignored. Unknown parameters are ignored. A query that does not parse is
// malformed (400); a bad value is a 422 on its field.
func parseListQuery(raw, param string, names []string, doc string) (listQuery, *bodyError) {
	q := listQuery{perPage: defaultPerPage}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, malformed(fmt.Errorf("malformed query string: %w", err))
	}
	if v, ok := vals["id[gt]"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil {
			return q, invalid("id", "id[gt] must be an integer")
		}
		q.after = n
	}
	if v, ok := vals["per_page"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxPerPage {
			return q, invalid("per_page", fmt.Sprintf("must be an integer from 1 to %d", maxPerPage))
		}
		q.perPage = n
	}
	for _, v := range slices.Concat(vals[param], vals[param+"[]"]) {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			i := slices.Index(names, item)
			if i < 0 {
				return q, invalid(param, "must be one of: "+doc)
			}
			q.filter |= 1 << i
		}
	}
	return q, nil
}
