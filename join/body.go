package join

import "errors"

// records calls fn with the canonical form of each element of the "data"
// array of a job_data body, {"data":[record,...]}, and its index. The
// canonical form is valid only during the call.
func records(body []byte, fn func(i int, rec []byte) error) error {
	var skip canon
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return errors.New(`join: the body is not {"data":[...]}`)
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '"' {
			return errors.New(`join: the body has no "data" array`)
		}
		skip.out = skip.out[:0]
		j, err := skip.str(body, i+1)
		if err != nil {
			return err
		}
		key := string(skip.out)
		j = skipSpace(body, j)
		if j >= len(body) || body[j] != ':' {
			return errSyntax
		}
		j = skipSpace(body, j+1)
		if key == `"data"` && j < len(body) && body[j] == '[' {
			return elements(body, j+1, fn)
		}
		skip.out = skip.out[:0]
		if i, err = skip.value(body, j, 0); err != nil {
			return err
		}
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return errors.New(`join: the body has no "data" array`)
		}
		i++
	}
}

func elements(b []byte, i int, fn func(int, []byte) error) error {
	var skip canon
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		i = skipSpace(b, i)
		skip.out = skip.out[:0]
		j, err := skip.value(b, i, 0)
		if err != nil {
			return err
		}
		if err := fn(n, skip.out); err != nil {
			return err
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return errSyntax
		}
		if b[i] == ']' {
			return nil
		}
		if b[i] != ',' {
			return errSyntax
		}
		i++
	}
}
