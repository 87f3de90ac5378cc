package arangotest

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Async jobs: a request with "x-arango-async: store" is answered 202 at once with an
// x-arango-async-id header and runs in the background; /_api/job/... lists, fetches, cancels
// and deletes the results ("x-arango-async: true" runs it without keeping the result).

type asyncJob struct {
	id      uint64
	done    bool
	status  int
	header  http.Header
	body    []byte
	created time.Time
}

// job returns the job the path's {id} names; nil after answering 404.
func (a *asyncJobs) job(c *call) *asyncJob {
	id, _ := strconv.ParseUint(c.param("id"), 10, 64)
	a.mu.Lock()
	j := a.jobs[id]
	a.mu.Unlock()
	if j == nil {
		c.error(404, 404, "not found")
	}
	return j
}

type asyncJobs struct {
	mu   sync.Mutex
	jobs map[uint64]*asyncJob
}

// recorder captures a handler's response.
type recorder struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.buf.Write(b)
}

// startAsync runs h in the background if the request asks for it; it reports whether it did.
func (s *Server) startAsync(c *call, h func(c *call)) bool {
	mode := strings.ToLower(c.header("x-arango-async"))
	if mode != "store" && mode != "true" {
		return false
	}
	if strings.HasPrefix(c.path, "/_api/job") {
		return false
	}
	id := s.store.NextTick()
	job := &asyncJob{id: id, created: time.Now()}
	if mode == "store" {
		s.async.mu.Lock()
		s.async.jobs[id] = job
		s.async.mu.Unlock()
	}
	rec := &recorder{h: http.Header{}}
	bc := *c
	bc.w = rec
	bc.encoding = ""
	bc.written = false
	bc.r = c.r.Clone(s.ctx)
	go func() {
		h(&bc)
		if !bc.written {
			bc.empty(200)
		}
		s.async.mu.Lock()
		job.done, job.status, job.header, job.body = true, rec.status, rec.h, rec.buf.Bytes()
		s.async.mu.Unlock()
	}()
	if mode == "store" {
		c.setHeader("X-Arango-Async-Id", strconv.FormatUint(id, 10))
	}
	c.empty(202)
	return true
}

func (s *Server) routeJobs(r *router) {
	list := func(c *call, done bool) {
		s.async.mu.Lock()
		var ids []uint64
		for id, j := range s.async.jobs {
			if j.done == done {
				ids = append(ids, id)
			}
		}
		s.async.mu.Unlock()
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		if n := int(c.qint("count", 0)); n > 0 && n < len(ids) {
			ids = ids[:n]
		}
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			out = append(out, strconv.FormatUint(id, 10))
		}
		c.json(200, out)
	}
	r.handle("GET", "/_api/job/done", func(c *call) { list(c, true) })
	r.handle("GET", "/_api/job/pending", func(c *call) { list(c, false) })
	r.handle("GET", "/_api/job/{id}", func(c *call) {
		j := s.async.job(c)
		if j == nil {
			return
		}
		if j.done {
			c.empty(200)
		} else {
			c.empty(204)
		}
	})
	r.handle("PUT", "/_api/job/{id}", func(c *call) {
		id, _ := strconv.ParseUint(c.param("id"), 10, 64)
		s.async.mu.Lock()
		j := s.async.jobs[id]
		if j != nil && j.done {
			delete(s.async.jobs, id)
		}
		s.async.mu.Unlock()
		if j == nil {
			c.error(404, 404, "not found")
			return
		}
		if !j.done {
			c.empty(204)
			return
		}
		for k, v := range j.header {
			if k != "Content-Length" && k != "Content-Encoding" {
				c.w.Header()[k] = v
			}
		}
		c.setHeader("X-Arango-Async-Id", c.param("id"))
		c.raw(j.status, j.header.Get("Content-Type"), j.body)
	})
	r.handle("PUT", "/_api/job/{id}/cancel", func(c *call) {
		j := s.async.job(c)
		if j == nil {
			return
		}
		c.okResult(200, true)
	})
	r.handle("DELETE", "/_api/job/{which}", func(c *call) {
		which := c.param("which")
		found := true
		s.async.mu.Lock()
		switch which {
		case "all":
			for id := range s.async.jobs {
				delete(s.async.jobs, id)
			}
		case "expired":
			stamp := c.qint("stamp", 0)
			for id, j := range s.async.jobs {
				if j.done && j.created.Unix() < stamp {
					delete(s.async.jobs, id)
				}
			}
		default:
			id, _ := strconv.ParseUint(which, 10, 64)
			_, found = s.async.jobs[id]
			delete(s.async.jobs, id)
		}
		s.async.mu.Unlock()
		if !found {
			c.error(404, 404, "not found")
			return
		}
		c.okResult(200, true)
	})
}
